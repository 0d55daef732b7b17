import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync, existsSync, readdirSync, mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
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

  await seedExtensions(url, cli, dataDir);

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

// seedExtensions publishes the sample bundles (EXTCRON_BUNDLES, built by
// make samples) plus e2e.vault, a bundle with a secret setting made from
// one of them, and installs what the extension and schedule specs expect:
//
//   E2E Corp   acme.crm-sync 1.0.0 (schedules specs), acme.flaky (empty
//              state, nobody schedules it), acme.webhooks-only (nothing
//              schedulable), acme.slowpoke; e2e.vault is left in the
//              catalog for the install spec.
//   E2E Zones  tenant default zone America/Sao_Paulo, acme.crm-sync.
//
// Extra users, so specs that change a profile do not race others:
// tz-browser@e2e.test and tz-profile@e2e.test (E2E Corp, admins),
// zones-admin@e2e.test (E2E Zones). Every password is "e2e-password".
async function seedExtensions(url: string, cli: (...args: string[]) => string, dataDir: string) {
  const bundles = process.env.EXTCRON_BUNDLES ?? resolve('build/bundles');
  const dirs = bundleDirs(bundles);
  if (dirs.length === 0) throw new Error(`no sample bundles under ${bundles}: run make samples`);
  for (const dir of dirs) cli('registry', 'publish', dir);
  cli('registry', 'publish', vaultBundle(dirs, dataDir));

  cli('user', 'create', '--tenant', 'E2E Corp', '--email', 'tz-browser@e2e.test', '--password', 'e2e-password', '--role', 'admin');
  cli('user', 'create', '--tenant', 'E2E Corp', '--email', 'tz-profile@e2e.test', '--password', 'e2e-password', '--role', 'admin');
  cli('tenant', 'create', '--name', 'E2E Zones', '--timezone', 'America/Sao_Paulo');
  cli('user', 'create', '--tenant', 'E2E Zones', '--email', 'zones-admin@e2e.test', '--password', 'e2e-password', '--role', 'admin');

  const corp = cli('token', 'create', '--email', 'admin@e2e.test');
  for (const [ext, version] of [['acme.crm-sync', '1.0.0'], ['acme.flaky', ''], ['acme.webhooks-only', ''], ['acme.slowpoke', '']]) {
    await install(url, corp, ext, version);
  }
  await install(url, cli('token', 'create', '--email', 'zones-admin@e2e.test'), 'acme.crm-sync', '');
}

function bundleDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    if (existsSync(join(dir, 'manifest.json'))) {
      out.push(dir);
      continue;
    }
    if (!existsSync(dir) || !readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory())) continue;
    for (const sub of readdirSync(dir).sort()) {
      if (existsSync(join(dir, sub, 'manifest.json'))) out.push(join(dir, sub));
    }
  }
  return out;
}

// vaultBundle writes a bundle whose config_schema has a secret, reusing a
// sample's module (its handlers are irrelevant to the settings pages).
function vaultBundle(dirs: string[], dataDir: string): string {
  const from = dirs.find((d) => existsSync(join(d, 'module.wasm')));
  if (!from) throw new Error('no sample bundle holds module.wasm');
  const dir = join(dataDir, 'e2e-vault-bundle');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(from, 'module.wasm'), join(dir, 'module.wasm'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({
    publisher: 'e2e',
    name: 'vault',
    version: '1.0.0',
    display_name: 'E2E Vault',
    description: 'Test extension with a secret setting.',
    runtime: 'wasm32-wasip1',
    module: 'module.wasm',
    capabilities: ['cap:log.emit', 'cap:http.fetch'],
    api: { endpoints: [{ method: 'POST', path: '/rotate', handler: 'work' }] },
    config_schema: {
      keys: [
        { key: 'base_url', label: 'Base URL', description: 'Where the vault lives.', default: 'https://vault.example' },
        { key: 'api_key', label: 'API key', description: 'Sent to the vault; write-only.', secret: true },
      ],
    },
  }, null, 2));
  return dir;
}

async function install(url: string, token: string, ext: string, version: string) {
  const res = await fetch(`${url}/api/v1/extensions/${ext}/install`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(version ? { version } : {}),
  });
  if (!res.ok && res.status !== 409) throw new Error(`install ${ext}: ${res.status} ${await res.text()}`);
}
