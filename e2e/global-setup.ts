import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Starts one extcron for the whole suite: a fresh data dir (its own
// embedded PostgreSQL), a free port, and the users the specs sign in as.
export default async function globalSetup() {
  const bin = process.env.EXTCRON_BIN ?? resolve('bin/extcron');
  const dataDir = mkdtempSync(join(tmpdir(), 'extcron-e2e-'));
  chmodSync(dataDir, 0o755);
  const env = {
    ...process.env,
    EXTCRON_DATA_DIR: dataDir,
    EXTCRON_ADDR: '127.0.0.1:0',
    EXTCRON_LOG_LEVEL: 'warn',
    EXTCRON_LOGIN_ATTEMPTS_PER_MINUTE: '1000',
  };
  const server = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await waitForURL(server);

  const cli = (...args: string[]) =>
    execFileSync(bin, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop()!;
  cli('tenant', 'create', '--name', 'E2E Corp');
  cli('user', 'create', '--tenant', 'E2E Corp', '--email', 'admin@e2e.test', '--password', 'admin-password', '--role', 'admin');
  cli('user', 'create', '--tenant', 'E2E Corp', '--email', 'viewer@e2e.test', '--password', 'viewer-password', '--role', 'viewer');

  process.env.EXTCRON_URL = url;
  process.env.EXTCRON_DATA_DIR = dataDir;

  return async () => {
    server.kill('SIGTERM');
    await new Promise((done) => server.once('exit', done));
    rmSync(dataDir, { recursive: true, force: true });
  };
}

function waitForURL(server: ChildProcess): Promise<string> {
  return new Promise((resolveURL, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('extcron did not start within 60 s:\n' + out)), 60_000);
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(/running at (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolveURL(m[1]);
      }
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`extcron exited with ${code} before serving:\n${out}`));
    });
  });
}
