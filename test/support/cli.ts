// The `cio-webhooks` command run in this process, as the tests call it: its exit code and what it printed.
import type { Io } from '../../scripts/cli/args';
import { main } from '../../scripts/cli/index';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** `env` is the command's whole environment (default none); `localDir` where it looks for a local stack. */
export async function runCli(
  argv: string[],
  { env = {}, localDir }: Pick<Io, 'localDir'> & Partial<Pick<Io, 'env'>>,
): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    isTTY: false,
    env,
    localDir,
  });
  return { code, out, err };
}
