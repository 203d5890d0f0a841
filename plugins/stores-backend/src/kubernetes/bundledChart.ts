import { create } from 'tar';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * Packs a chart directory into a .tgz the way `helm package` lays it out (`<name>/...`), so the
 * Helm Job installs the chart shipped with the plugin without any chart registry.
 */
export async function packageChart(
  chartDir: string,
): Promise<{ archiveBase64: string; version: string }> {
  await access(path.join(chartDir, 'Chart.yaml')).catch(() => {
    throw new Error(`${chartDir} is not a Helm chart (no Chart.yaml)`);
  });
  const version = await chartVersionOf(chartDir);
  const stream = create(
    {
      gzip: true,
      cwd: path.dirname(chartDir),
      portable: true,
      mtime: new Date(0),
    },
    [path.basename(chartDir)],
  );
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  const archive = Buffer.concat(chunks);
  if (archive.length > 900 * 1024) {
    throw new Error(
      `Chart ${chartDir} packs to ${archive.length} bytes; a ConfigMap holds at most 1 MiB`,
    );
  }
  return { archiveBase64: archive.toString('base64'), version };
}

/** The `version` of the chart in a directory (its Chart.yaml). */
export async function chartVersionOf(chartDir: string): Promise<string> {
  const chart = parse(
    await readFile(path.join(chartDir, 'Chart.yaml'), 'utf8'),
  );
  if (typeof chart?.version !== 'string' || !chart.version) {
    throw new Error(`${chartDir}/Chart.yaml has no version`);
  }
  return chart.version;
}
