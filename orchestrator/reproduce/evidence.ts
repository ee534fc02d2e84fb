// `c3l reproduce --evidence FILE`: the table of each world written into FILE (EVIDENCE.md) between
// its markers, so the evidence page holds the command's own output, never a hand-copied table.
//   <!-- c3l reproduce: w0 -->
//   …replaced by the world's table.md…
//   <!-- end c3l reproduce: w0 -->
// A world without markers is appended at the end under them (the prose around them is kept).

const start = (world: string) => `<!-- c3l reproduce: ${world} -->`;
const end = (world: string) => `<!-- end c3l reproduce: ${world} -->`;

export function spliceTable(doc: string, world: string, markdown: string): string {
  const block = `${start(world)}\n${markdown.trimEnd()}\n${end(world)}`;
  const from = doc.indexOf(start(world));
  const to = doc.indexOf(end(world));
  if (from === -1 || to === -1 || to < from) return `${doc.trimEnd()}\n\n${block}\n`;
  return doc.slice(0, from) + block + doc.slice(to + end(world).length);
}
