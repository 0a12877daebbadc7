import type { ChildProcess } from 'node:child_process';

export interface RuntimeSpec {
  dataDir: string;
  ports: { api: number; router: number; dynamodb: number; s3: number; mon: number };
  env: Record<string, string>;
}
export function freePort(): Promise<number>;
export function allocateRuntime(options: {
  dataDir: string;
  ports?: RuntimeSpec['ports'];
  env?: Record<string, string>;
}): Promise<RuntimeSpec>;
export function launchRuntime(
  spec: RuntimeSpec,
  timeoutMs?: number,
): Promise<{ apiUrl: string; pid: number; child: ChildProcess }>;
export function stopRuntime(pid: number, dataDir: string, timeoutMs?: number): Promise<void>;
export interface IamCount {
  checked: number;
  denied: number;
}
export function iamTotals(dir: string): {
  runtimes: number;
  sdkCalls: IamCount;
  presignedGrants: IamCount;
  serviceCalls: IamCount;
  denials: Array<{ at: string; principal: string; action: string; resource: string; because: string }>;
};
