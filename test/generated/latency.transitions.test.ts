import { describe, expect, it } from 'vitest';
import { latencyMachine } from '../../machines/latency.machine.js';
import {
  assertFullCoverage,
  definedTransitions,
  edgeCoveringPaths,
  replayPath,
} from '../support/transition-coverage.js';

// No context, no payloads, no delays: the defaults describe the whole graph.
const paths = edgeCoveringPaths(latencyMachine);
const defined = definedTransitions(latencyMachine);
const traversed = new Set<string>();

describe('latency machine: generated transition paths', () => {
  it('generates paths', () => {
    expect(paths.length).toBeGreaterThan(0);
  });

  for (const path of paths) {
    it(path.description, () => {
      for (const id of replayPath(latencyMachine, path)) traversed.add(id);
    });
  }

  it('traverses every defined transition', () => {
    assertFullCoverage('latency', defined, traversed);
  });
});
