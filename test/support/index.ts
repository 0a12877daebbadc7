/** What the e2e and reliability tiers share: waiting, storage probes and hand-built uploads. */
export * from './polling.js';
export * from './storage.js';
export * from './uploads.js';
