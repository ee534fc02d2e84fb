// HTML escaping: the one rule for text and attribute values in the report page, its SVG charts and the reproduce table.

/** `& < > " '` as entities: safe in element text and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}
