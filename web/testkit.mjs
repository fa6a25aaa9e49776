// What the browser tests share: a real `evgrid demo` on a loopback port with its own data
// directory, and Debian's headless chromium. EVGRID_BIN names the binary (default:
// ../target/release/evgrid), CHROMIUM the browser (default: /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const bin = process.env.EVGRID_BIN || resolve('../target/release/evgrid');

/** Starts `evgrid demo` with `args` and `env`; resolves once it serves. */
export async function startDemo(args = [], env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'evgrid-web-'));
  const server = spawn(bin, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn', ...env } });
  const base = await new Promise((ok, fail) => {
    const lines = createInterface({ input: server.stdout });
    lines.on('line', (l) => { const m = l.match(/^evgrid serving (http:\/\/[^/]+\/)/); if (m) ok(m[1]); });
    server.on('exit', (code) => fail(new Error(`evgrid exited ${code}`)));
  });
  return { base, dataDir, stop: () => { server.kill(); rmSync(dataDir, { recursive: true, force: true }); } };
}

/** Launches headless chromium as the tests need it (software GL for MapLibre). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}
