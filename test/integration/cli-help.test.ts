/**
 * The option table is the one source of the help text, docs/cli.md and the README's claim:
 * each command's help lists exactly the options it uses, and the documents cannot drift.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/main.js';
import { flagName, optionEntries, type CommandName } from '../../src/config/options.js';
import { runCli } from '../support/agent-process.js';

const repoFile = (path: string): Promise<string> => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

function shownFlags(command: CommandName): string[] {
  return optionEntries()
    .filter(([, row]) => row.shownBy.includes(command))
    .map(([key]) => `--${flagName(key)}`);
}

function helpFlags(help: string): string[] {
  return [...help.split('\nExamples:')[0]!.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((match) => match[1]!).filter((flag) => flag !== '--version' && flag !== '--help');
}

describe('help and documents from the option table', () => {
  for (const { name } of COMMANDS) {
    it(`${name} --help lists exactly its options, with examples`, async () => {
      const result = await runCli([name, '--help']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(helpFlags(result.stdout).sort(), shownFlags(name).sort());
      assert.match(result.stdout, /Examples:/);
    });
  }

  it('convert and render no longer list the agent options they do not use', async () => {
    const convert = await runCli(['convert', '--help']);
    assert.doesNotMatch(convert.stdout, /--sidecar|--resync-interval|--app-id/);
    const render = await runCli(['render', '--help']);
    assert.doesNotMatch(render.stdout, /--sidecar|--resync-interval|--http/);
  });

  it('docs/cli.md has a section per command naming each of its options', async () => {
    const doc = await repoFile('docs/cli.md');
    for (const { name } of [...COMMANDS, { name: 'completion' as const }]) {
      const section = new RegExp(`^## ${name}\\n([\\s\\S]*?)(?=^## |(?![\\s\\S]))`, 'm').exec(doc)?.[1];
      assert.ok(section, `docs/cli.md has no "## ${name}" section`);
      const sources = /Sources as for `run`|all of `run`'s/.test(section);
      for (const flag of shownFlags(name)) {
        const row = optionEntries().find(([key]) => `--${flagName(key)}` === flag)![1];
        if (sources && row.scope === 'agent' && (row.group === 'source' || /all of `run`'s/.test(section))) continue;
        assert.ok(section.includes(`\`${flag}`), `docs/cli.md "## ${name}" does not mention ${flag}`);
      }
    }
  });

  it("the README names exactly the options that are not flag + env + file", async () => {
    const readme = await repoFile('README.md');
    const paragraph = /Every agent option has a flag[\s\S]*?\n\n/.exec(readme)?.[0] ?? '';
    const flagOnly = optionEntries()
      .filter(([, row]) => row.scope === 'command')
      .map(([key]) => `--${flagName(key)}`);
    const named = [...paragraph.matchAll(/`(--[a-z-]+)`/g)].map((match) => match[1]!).filter((flag) => flag !== '--config');
    assert.deepEqual(named.sort(), flagOnly.sort());
    for (const [key, row] of optionEntries()) {
      if (row.scope !== 'agent') continue;
      const incomplete = row.flag === false || row.env === undefined || row.inFile === false;
      if (incomplete) assert.match(paragraph, new RegExp(`\`(--)?${row.flag === false ? key : flagName(key)}\``), `${key} is an exception the README must name`);
    }
  });
});
