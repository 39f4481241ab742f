import assert from 'node:assert/strict';
import { it } from 'node:test';
import { errorLines } from '../../src/cli/error-lines.js';
import { AgentError } from '../../src/domain/errors.js';

const options = { debug: false, scriptName: 'apollo-sidecar-agent' };

it('an error of several lines is shown as one, its list dashes and indents folded', () => {
  assert.deepEqual(errorLines(new AgentError('release rejected:\n  - a\n  - b'), options), ['error: release rejected:; a; b']);
});

it('a message with a long run of blanks and no line break is folded in linear time (1 MB of spaces took minutes)', () => {
  const blanks = ' '.repeat(1_000_000);
  const started = performance.now();
  assert.deepEqual(errorLines(new AgentError(`key ${blanks} is not mapped\nnext`), options), [`error: key ${blanks} is not mapped; next`]);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 5_000, `${Math.round(elapsed)} ms`);
});
