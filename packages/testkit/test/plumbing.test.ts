/**
 * The plumbing every other suite leans on: bounded waits say what they waited for, a child
 * process is ready when its line appears (and not when it dies first), and a stop ends it by PID.
 * The SMTP capture and `sesame start` are exercised by the suites that use them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess, waitForOutput, waitUntil } from '../src/index.js';

afterAll(() => killStartedProcesses());

const node = (script: string) => startProcess(process.execPath, ['-e', script], { cwd: process.cwd(), env: process.env });

describe('waitUntil', () => {
  it('resolves with the first value that is neither undefined nor false', async () => {
    let polls = 0;
    await expect(waitUntil('the third poll', () => (++polls >= 3 ? polls : false), 1_000, 1)).resolves.toBe(3);
  });

  it('names what it waited for and the last error when the bound runs out', async () => {
    await expect(
      waitUntil(
        'a server',
        () => {
          throw new Error('connection refused');
        },
        50,
        10,
      ),
    ).rejects.toThrow(/timed out after 50 ms waiting for a server \(last error: connection refused\)/);
  });
});

describe('child processes', () => {
  it('waits for a line, keeps the output, and stops by PID', async () => {
    const child = node(
      "process.stderr.write('warming up\\n'); setTimeout(() => console.log('PORT 4321'), 50); setInterval(() => {}, 1000);",
    );
    const [, port] = await waitForOutput(child, /^PORT (\d+)$/m, 5_000, 'the child');
    expect(port).toBe('4321');
    expect(child.stderr).toBe('warming up\n');
    expect(child.output).toBe('warming up\nPORT 4321\n');
    expect(child.running()).toBe(true);
    expect(await child.stop()).toBeNull();
    expect(child.child.signalCode).toBe('SIGTERM');
  });

  it('fails at once, with the output, when the process exits before its line', async () => {
    const child = node("console.log('bad config'); process.exit(3);");
    await expect(waitForOutput(child, 'listening', 5_000, 'the child')).rejects.toThrow(/the child exited early \(3\):\nbad config/);
  });

  it('gives up after the bound', async () => {
    const child = node('setInterval(() => {}, 1000);');
    await expect(waitForOutput(child, 'listening', 100, 'the child')).rejects.toThrow(/the child: not ready within 100 ms/);
    await child.kill();
    expect(child.running()).toBe(false);
  });
});
