/**
 * THE HTTP transport from this gateway to Orthanc: undici's fetch over one keep-alive agent.
 *
 * Why not the global fetch: Orthanc 1.10's server answers `Keep-Alive: timeout=1` (fixed; no option
 * before 1.12), and the fetch bundled with Node subtracts a 1 s safety margin from that hint, which
 * leaves 0 s: every call to Orthanc opened a new TCP connection and threw an undici "reset" error
 * internally. This agent keeps an idle connection for up to 600 ms of Orthanc's second (a margin of
 * 400 ms before Orthanc closes it), so back-to-back calls, the usual case under load, reuse it.
 */
import { Agent, fetch as undiciFetch } from 'undici';

const agent = new Agent({ keepAliveTimeoutThreshold: 400, keepAliveMaxTimeout: 600, connections: 64 });

/** fetch() to Orthanc: the global fetch's signature and Response, over the agent above. */
export function fetchOrthanc(url: string, init: RequestInit = {}): Promise<Response> {
  return undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
}
