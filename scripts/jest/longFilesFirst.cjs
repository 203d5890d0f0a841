/*
 * Jest test sequencer for `yarn test`: the files that take minutes start first, so that on a
 * clean clone (no Jest timing cache, where Jest orders files by size) none of them starts
 * late and leaves the other workers idle at the end. Every other file keeps Jest's order.
 */
const Sequencer = require('@jest/test-sequencer').default;

// Longest first; seconds of one clean-clone CI run (3 workers on 2 cores) in brackets.
const longFiles = [
  'stores-backend/src/reconciler/realClusterLeastPrivilege.test.ts', // 241 s
  'stores-backend/src/reconciler/realClusterDeletion.test.ts', // 227 s
  'stores-backend/src/reconciler/realCluster.test.ts', // 156 s
  'stores-backend/src/reconciler/healthCheckThroughApiServer.test.ts', // 91 s
  'stores-backend/src/service/router.test.ts', // 87 s
];

function longRank(test) {
  const file = test.path.split('\\').join('/');
  return longFiles.findIndex(suffix => file.endsWith(`/${suffix}`));
}

class LongFilesFirstSequencer extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    const long = ordered
      .filter(test => longRank(test) >= 0)
      .sort((a, b) => longRank(a) - longRank(b));
    return [...long, ...ordered.filter(test => longRank(test) < 0)];
  }
}

module.exports = LongFilesFirstSequencer;
