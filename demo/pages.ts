/** The demo's server-rendered pages: plain HTML forms, no front-end build. */

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>sessiond demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto}form{display:inline-block;margin-right:.5rem}</style>
</head>
<body>
<h1>sessiond demo</h1>
${body}
<p><small>Kill the server with <code>kill -9</code> and start it again: you stay logged in, the counter keeps its value.</small></p>
</body>
</html>`;
}

export function loggedInPage(user: string, counter: number): string {
  return page(`<p>Logged in as <strong id="user">${escapeHtml(user)}</strong></p>
<p>Counter: <strong id="counter">${counter}</strong></p>
<form method="post" action="/increment"><button id="increment" type="submit">Increment</button></form>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>`);
}

export function loginPage(): string {
  return page(`<form method="post" action="/login">
<label>User name <input id="username" name="username" required maxlength="64" autocomplete="username"></label>
<button id="login" type="submit">Log in</button>
</form>`);
}
