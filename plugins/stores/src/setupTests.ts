import '@testing-library/jest-dom';

// Page and dialog tests render Backstage's tables and type through user-event; beside the
// real-cluster suites on a loaded 2-core machine, one has taken more than Jest's default 5 s.
jest.setTimeout(30_000);
