// e2e tests wait on a real pipeline; jest's testTimeout is global, so set it for this tier here.
import { jest } from '@jest/globals';

jest.setTimeout(180_000);
