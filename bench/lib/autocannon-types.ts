/** The part of autocannon 8 the bench uses (it ships no types). */
export interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: AutocannonRequest, context: unknown) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: unknown) => void;
}

export interface AutocannonClient {
  setRequests(requests: AutocannonRequest[]): void;
}

export interface AutocannonOptions {
  url: string;
  connections: number;
  pipelining: number;
  duration: number;
  timeout: number;
  setupClient: (client: AutocannonClient) => void;
}

export interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number; average: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
}

export type Autocannon = (opts: AutocannonOptions, cb: (err: unknown, result: AutocannonResult) => void) => { stop(): void };
