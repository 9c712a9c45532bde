/** `inspect` output without a template: the daemon's objects in a JSON array indented by 4 spaces. */
export function formatInspectJson(objects: readonly unknown[]): string {
  if (objects.length === 0) return '[]\n';
  return `${JSON.stringify(objects, null, 4)}\n`;
}
