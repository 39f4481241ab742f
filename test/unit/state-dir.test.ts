/**
 * The state dir cannot be turned against the agent: each hostile case of issue 15 against the
 * storage primitives, the ledger and the Apollo cache.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { LedgerStore } from '../../src/ledger/ledger-store.js';
import { EMPTY_LEDGER } from '../../src/domain/ledger.js';
import { NamespaceCache } from '../../src/sources/apollo/namespace-cache.js';
import { parseNamespaceName } from '../../src/sources/apollo/namespace-name.js';
import { checkStateDir, readStateFile, StateDirError, StateEntryError, writeStateFile } from '../../src/storage/state-dir.js';
import { runCleanups, tempDir } from '../support/cleanups.js';
import { capturingLogger } from '../support/capturing-logger.js';

afterEach(runCleanups);

const OTHER_FILE_CONTENT = 'root:x:0:0:root:/root:/bin/bash\n';

describe('checkStateDir', () => {
  it('a missing state dir is fine and left alone; the first write creates it 0700, and files 0600', async () => {
    const dir = join(await tempDir('asa-state-'), 'nested', 'state');
    await checkStateDir(dir);
    await assert.rejects(stat(dir), { code: 'ENOENT' });
    await writeStateFile(join(dir, 'a', 'b.json'), '{}', { root: dir });
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'a', 'b.json'))).mode & 0o777, 0o600);
  });

  it('refuses a state dir writable by group or others, in one line saying why', async () => {
    const dir = await tempDir('asa-state-');
    for (const [mode, who] of [
      [0o777, 'group and others'],
      [0o770, 'group'],
      [0o703, 'others'],
    ] as const) {
      await chmod(dir, mode);
      await assert.rejects(checkStateDir(dir), (error: Error) => {
        assert.ok(error instanceof StateDirError);
        assert.match(error.message, new RegExp(`^state dir .+ is writable by ${who} \\(mode 0${mode.toString(8)}\\).*chmod 700`));
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    }
  });

  it("refuses a state dir that belongs to another user", async () => {
    let dir = '/';
    if (process.getuid?.() === 0) {
      dir = await tempDir('asa-state-');
      await chown(dir, 65534, 65534);
    }
    await assert.rejects(checkStateDir(dir), /^StateDirError: state dir .+ belongs to uid \d+, not to this agent \(uid \d+\)/);
  });

  it('refuses a state dir that is a symbolic link or not a directory', async () => {
    const base = await tempDir('asa-state-');
    await mkdir(join(base, 'real'), { mode: 0o700 });
    await symlink(join(base, 'real'), join(base, 'link'));
    await assert.rejects(checkStateDir(join(base, 'link')), /is a symbolic link/);
    await writeFile(join(base, 'file'), 'x');
    await assert.rejects(checkStateDir(join(base, 'file')), /is a regular file, not a directory/);
  });
});

describe('files under the state dir are never followed', () => {
  it('a symbolic link to another file is refused for reading and writing; the other file is untouched', async () => {
    const dir = await tempDir('asa-state-');
    const other = join(await tempDir('asa-other-'), 'passwd');
    await writeFile(other, OTHER_FILE_CONTENT);
    await symlink(other, join(dir, 'ledger.json'));
    await assert.rejects(readStateFile(join(dir, 'ledger.json'), { root: dir }), StateEntryError);
    await assert.rejects(writeStateFile(join(dir, 'ledger.json'), '{}', { root: dir }), /is a symbolic link/);
    assert.equal(await readFile(other, 'utf8'), OTHER_FILE_CONTENT);
  });

  it('a FIFO where a file should be is reported without hanging', async () => {
    const dir = await tempDir('asa-state-');
    execFileSync('mkfifo', [join(dir, 'ledger.json')]);
    await assert.rejects(readStateFile(join(dir, 'ledger.json'), { root: dir }), /is a FIFO/);
  });
});

describe('LedgerStore on a hostile state dir', () => {
  it('ledger.json replaced by a directory: set aside with one warning, started empty, written again', async () => {
    const dir = await tempDir('asa-state-');
    await mkdir(join(dir, 'ledger.json', 'inner'), { recursive: true });
    const { logger, lines } = capturingLogger();
    const store = new LedgerStore(dir, logger);
    assert.deepEqual(await store.load(), EMPTY_LEDGER);
    assert.deepEqual(
      lines.map((line) => [line.level, line.message, line['error']]),
      [['warn', 'ledger is unreadable; set aside and rebuilt from the next full push', `${join(dir, 'ledger.json')} is a directory; the agent does not follow or replace it`]],
    );
    store.save(EMPTY_LEDGER);
    await store.flush();
    assert.ok((await lstat(join(dir, 'ledger.json'))).isFile());
  });

  it("ledger.json symlinked to another file: the link is set aside, no byte of the other file reaches the log", async () => {
    const dir = await tempDir('asa-state-');
    const other = join(await tempDir('asa-other-'), 'passwd');
    await writeFile(other, OTHER_FILE_CONTENT);
    await symlink(other, join(dir, 'ledger.json'));
    const { logger, lines } = capturingLogger();
    assert.deepEqual(await new LedgerStore(dir, logger).load(), EMPTY_LEDGER);
    assert.equal(lines.length, 1);
    assert.ok(!JSON.stringify(lines).includes('root:x'), JSON.stringify(lines));
    assert.equal(await readFile(other, 'utf8'), OTHER_FILE_CONTENT);
    assert.deepEqual((await readdir(dir)).filter((name) => name === 'ledger.json'), []);
  });

  it('a corrupt ledger is set aside without quoting its content (it holds secrets)', async () => {
    const dir = await tempDir('asa-state-');
    await writeFile(join(dir, 'ledger.json'), 'redisPassword=hunter2-in-a-torn-file', { mode: 0o600 });
    const { logger, lines } = capturingLogger();
    assert.deepEqual(await new LedgerStore(dir, logger).load(), EMPTY_LEDGER);
    assert.equal(lines[0]?.['error'], 'not valid JSON');
    assert.ok(!JSON.stringify(lines).includes('hunter2'));
  });
});

describe('the Apollo cache on a hostile state dir', () => {
  const name = parseNamespaceName('application');
  const content = { releaseKey: 'rk1', configurations: { 'state.redis.redisPassword': 'fx-cached-secret' } };

  for (const linked of ['apollo-cache', 'apollo-cache/app', 'apollo-cache/app/config-cache'] as const) {
    it(`${linked} symlinked elsewhere: nothing is written there or read from there`, async () => {
      const stateDir = await tempDir('asa-state-');
      const elsewhere = await tempDir('asa-elsewhere-');
      const linkPath = join(stateDir, ...linked.split('/'));
      await mkdir(join(linkPath, '..'), { recursive: true });
      await symlink(elsewhere, linkPath);
      const { logger, lines } = capturingLogger();
      const cache = new NamespaceCache({ dir: join(stateDir, 'apollo-cache'), appId: 'app', cluster: 'default', logger });
      // The cache throws; its namespace's repository logs the failure and shows it in /status.
      await assert.rejects(cache.write(name, content), /is a symbolic link/);
      assert.deepEqual(await readdir(elsewhere, { recursive: true }), []);

      // A cache planted where the link points is not read either.
      const planted = cache.pathFor(name).replace(linkPath, elsewhere);
      await mkdir(join(planted, '..'), { recursive: true });
      await writeFile(planted, 'state.redis.redisHost=evil\n');
      assert.equal(await cache.read(name), undefined);
      assert.match(String(lines[0]?.['error']), /is a symbolic link/);
    });
  }

  it('a cache file replaced by a directory is reported, not read', async () => {
    const stateDir = await tempDir('asa-state-');
    const { logger, lines } = capturingLogger();
    const cache = new NamespaceCache({ dir: join(stateDir, 'apollo-cache'), appId: 'app', cluster: 'default', logger });
    await mkdir(cache.pathFor(name), { recursive: true });
    assert.equal(await cache.read(name), undefined);
    assert.match(String(lines[0]?.['error']), /is a directory/);
  });
});
