import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHART_DIR } from './harness';

const ANCHOR = '        checksum/apache:';
const HTTP_500 = '        storeplane.io/sim-http-status: "500"\n';

/**
 * Chart 0.2.0, a later release of the store chart (copied to a temporary directory), whose
 * WordPress pods answer HTTP 500 (the sim answers the pod annotation
 * storeplane.io/sim-http-status), as a broken release would: in every namespace, or only in
 * `onlyInNamespace`.
 */
export function brokenChartRelease(onlyInNamespace?: string): string {
  const dir = path.join(
    mkdtempSync(path.join(os.tmpdir(), 'storeplane-chart-')),
    'woocommerce-store',
  );
  cpSync(CHART_DIR, dir, { recursive: true });
  const chart = path.join(dir, 'Chart.yaml');
  writeFileSync(
    chart,
    readFileSync(chart, 'utf8').replace(/^version: .*$/m, 'version: 0.2.0'),
  );
  const deployment = path.join(dir, 'templates', 'wordpress-deployment.yaml');
  const template = readFileSync(deployment, 'utf8');
  if (!template.includes(ANCHOR)) {
    throw new Error(`${deployment} has no "${ANCHOR.trim()}" annotation`);
  }
  const annotation = onlyInNamespace
    ? `        {{- if eq .Release.Namespace "${onlyInNamespace}" }}\n${HTTP_500}        {{- end }}\n`
    : HTTP_500;
  writeFileSync(deployment, template.replace(ANCHOR, `${annotation}${ANCHOR}`));
  return dir;
}
