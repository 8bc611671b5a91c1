// The one-screen summary of a chaos run.

import type { Analysis } from './analysis';
import type { ChaosResult } from './scenario';

const n = (value: number) => value.toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const counts = (map: Map<string, number>) =>
  [...map]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ×${n(v)}`)
    .join(', ') || 'none';

export function renderSummary(result: ChaosResult, a: Analysis): string {
  const { faults, deliveries, options, outage } = result;
  const repeats = a.effectRepeats;
  const dead = result.deadLetters;
  const lines = [
    `chaos run · seed ${options.seed} · wall time ${s(result.wallMs)} (${result.phases.map(([p, ms]) => `${p} ${s(ms)}`).join(' · ')})`,
    `sent        ${n(a.requests)} requests: ${n(a.distinctEvents)} distinct events + ${n(a.duplicateRequests)} duplicates ` +
      `(${n(a.concurrentDuplicates)} concurrent, ${n(a.lateResends)} re-sent ≥${a.lateGapSeconds} s after the first 200)`,
    `            sender retries ${n(a.senderRetries)} (${counts(a.retriesByStatus)})`,
    `acknowledged ${n(a.acceptedRequests)} requests with 200 → ${n(a.acknowledged.size)} events; never 2xx: ${counts(a.refused)} (never retried)`,
    `warehouse   ${n(a.rowsTotal)} rows (dedupeInsertIds off) for ${n(a.acknowledged.size)} acknowledged events: ` +
      `missing ${a.missingRows.length}, extra ${a.extraRows.length}, second row in a crash window ` +
      `${a.crashWindowRows.length}, unexplained ${a.unexplainedRows.length}; ` +
      `${a.objectTypesStored.length} object types; rejects ${result.rejectRows}`,
    `            insertAll ${n(result.insertAllRequests)} requests, ${n(a.insertRowsSent)} rows sent; ${n(a.insertResent)} events re-sent after a fault or crash`,
    `ledger      duplicates absorbed ${n(deliveries.count('duplicate'))} deliveries; busy-lease nacks ${n(deliveries.count('in_progress_nack'))}; ` +
      `claims lost to SIGKILL ${n(a.lostClaims.length)}; completed twice ${a.completedTwice.length}`,
    `processor   ${n([...deliveries.outcomes.values()].reduce((x, y) => x + y, 0))} invocations: ${counts(deliveries.outcomes)}`,
    `track       ${n(a.expectedEffects.size)} expected effects, ${n(a.distinctEffects.size)} distinct applied ` +
      `(missing ${a.missingEffects.length}, unexpected ${a.unexpectedEffects.length}); ${n(a.effectCalls)} 2xx calls = ` +
      `${repeats} repeat${repeats === 1 ? '' : 's'} in crash windows; ${n(a.trackCalls)} calls, ${n(a.trackClientRetries)} client retries`,
    `faults      processor SIGKILL ×${faults.processorKills} · Pub/Sub outage ×${faults.pubsubOutages} ` +
      `(${s(outage.restartedAt - outage.stoppedAt)}; answers meanwhile: ${counts(a.outageAnswers)})`,
    `            Track 500 ×${faults.track500}, 429 ×${faults.track429}, hang ×${faults.trackHang} · ` +
      `warehouse 503 ×${faults.warehouse503}, partial ×${faults.warehousePartial}`,
    `workspaces  default + ${options.workspace}: ${n([...a.acknowledged].filter((id) => id.startsWith(`${options.workspace}/`)).length)} of the events are ${options.workspace}'s ` +
      `(${options.inBothWorkspaces} sent to both); ${options.workspace}'s Track key refused for ${s(result.revokedKey.to - result.revokedKey.from)} ` +
      `(${n(result.deliveries.byWorkspace.get(options.workspace)?.filter((l) => l.classification === 'track:credentials:401').length ?? 0)} deliveries nacked meanwhile)`,
    `dead letters ${dead.length}${dead.length ? ': ' + dead.map((d) => `${d.eventId} (${d.when})`).join(', ') : ''}`,
    `processes   ${result.leftover.groups.length} process groups and ${result.leftover.processes.length} processes left after stop; ` +
      `unexpected exits ${result.unexpectedExits.length}`,
    result.drained ? 'drained     yes' : `drained     NO: ${result.unsettled.length} open`,
  ];
  return lines.join('\n') + '\n';
}

/** What the summary counts, event by event, for the file written beside it. */
export function renderDetails(a: Analysis): string {
  const section = (title: string, lines: string[]) =>
    `${title} (${lines.length})\n${lines.map((l) => `  ${l}\n`).join('')}`;
  return [
    section('claims lost to SIGKILL', a.lostClaims),
    section('second rows in a crash window', a.crashWindowRows),
    section('rows not explained', a.unexplainedRows),
  ].join('');
}
