/** The runtime stage of the repository's Dockerfile, read the way `docker build` reads it. */
import { readFile } from 'node:fs/promises';

export interface RuntimeStage {
  readonly from: string;
  readonly workdir: string;
  readonly user: string;
  readonly env: Readonly<Record<string, string>>;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
}

export async function runtimeStage(): Promise<RuntimeStage> {
  const text = await readFile(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    .map((line) => /^\s*(\w+)\s+(.*)$/.exec(line)!)
    .map(([, word, rest]) => ({ word: word!.toUpperCase(), rest: rest!.trim() }));
  const last = instructions.map((i) => i.word).lastIndexOf('FROM');
  const stage = instructions.slice(last);
  const one = (word: string): string => {
    const found = stage.filter((i) => i.word === word);
    if (found.length !== 1) throw new Error(`the runtime stage has ${found.length} ${word} instructions, expected one`);
    return found[0]!.rest;
  };
  const env: Record<string, string> = {};
  for (const { rest } of stage.filter((i) => i.word === 'ENV')) {
    for (const pair of rest.split(/\s+/)) {
      const [key, ...value] = pair.split('=');
      env[key!] = value.join('=');
    }
  }
  return {
    from: one('FROM'),
    workdir: one('WORKDIR'),
    user: one('USER'),
    env,
    entrypoint: JSON.parse(one('ENTRYPOINT')) as string[],
    cmd: JSON.parse(one('CMD')) as string[],
  };
}
