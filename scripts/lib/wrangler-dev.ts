// Starts and stops a local `wrangler dev` of this Worker for the end-to-end
// test (test/node/e2e.test.ts) and the HTTP benchmark (scripts/bench-http.ts).
//
// The local wrangler binary is spawned in its own process group on a free
// loopback port, with node_modules/.bin first on PATH so its `#!/usr/bin/env
// node` shebang finds the Node 22 of the `node` devDependency, not the
// system one. Startup waits for GET /healthz; stop() ends the whole group
// (wrangler, its child Node and workerd).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { ROOT } from "./paths";

export interface WranglerDevOptions {
  /** Extra `--var KEY:VALUE` bindings, overriding wrangler.toml [vars]. */
  vars?: Record<string, string>;
  /** How long to wait for GET /healthz. @default 90000 */
  timeoutMs?: number;
  /** @default "warn" */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** Echo wrangler's output to this process's stderr as it comes. @default false */
  echo?: boolean;
}

export interface WranglerDev {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  pid: number;
  /** What wrangler printed so far (the last 64 KiB). */
  output(): string;
  /** Ends the process group; safe to call twice. */
  stop(): Promise<void>;
}

/** A port the OS says is free now: listen on port 0, read it, close. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? res(port) : rej(new Error("could not read the port of a listening socket"))));
    });
  });
}

const MAX_OUTPUT = 64 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Builds the page and the /docs assets into dist-page/ (scripts/build-page.ts), as `npm run build:page` does. */
export function buildPage(): void {
  execFileSync(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "scripts/build-page.ts"], { cwd: ROOT, stdio: "inherit" });
}

/** Starts `wrangler dev` and resolves once GET /healthz answers 200. */
export async function startWranglerDev(opts: WranglerDevOptions = {}): Promise<WranglerDev> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  // wrangler refuses to start without the static assets directory (wrangler.toml [assets]).
  if (!existsSync(join(ROOT, "dist-page"))) buildPage();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const persist = mkdtempSync(join(tmpdir(), "mnist-edge-wrangler-"));
  const args = [
    "dev",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--log-level",
    opts.logLevel ?? "warn",
    "--persist-to",
    persist,
    "--show-interactive-dev-session=false",
  ];
  for (const [k, v] of Object.entries(opts.vars ?? {})) args.push("--var", `${k}:${v}`);

  const bin = join(ROOT, "node_modules", ".bin");
  const child = spawn(join(bin, "wrangler"), args, {
    cwd: ROOT,
    detached: true, // its own process group, so stop() reaches workerd too
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PATH: [bin, process.env.PATH ?? ""].join(delimiter), WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", NO_COLOR: "1" },
  });
  let out = "";
  const collect = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > MAX_OUTPUT) out = out.slice(-MAX_OUTPUT);
    if (opts.echo) process.stderr.write(chunk);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exited: string | undefined;
  const exit = new Promise<void>((res) => {
    child.once("exit", (code, signal) => {
      exited = signal ? `signal ${signal}` : `code ${code}`;
      res();
    });
    child.once("error", (e) => {
      exited = `spawn error: ${e.message}`;
      res();
    });
  });
  // If this process dies without calling stop(), take the group with it.
  const onExit = () => killGroup(child, "SIGKILL");
  process.once("exit", onExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", onExit);
    if (exited === undefined) {
      killGroup(child, "SIGTERM");
      const done = await Promise.race([exit.then(() => true), sleep(5000).then(() => false)]);
      if (!done) killGroup(child, "SIGKILL");
    }
    // workerd may outlive wrangler by a moment; make sure the group is gone.
    killGroup(child, "SIGKILL");
    rmSync(persist, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`wrangler dev exited (${exited}) before GET /healthz answered. Its output:\n${out}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) {
        await res.arrayBuffer();
        break;
      }
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer GET ${url}/healthz within ${timeoutMs} ms (last: ${last}). Its output:\n${out}`);
    }
    await sleep(250);
  }
  return { url, port, pid: child.pid as number, output: () => out, stop };
}
