// A job's dependencies (GET /jobs/{id}/graph): its parents on the left, the job in the middle, its
// children on the right, drawn as plain SVG. Types, statuses and ids are user data: they go in as
// text nodes (textContent), never as markup.

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 220, NODE_H = 44, GAP_X = 70, GAP_Y = 14, PAD = 6;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

function clip(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function node(n, x, y, role) {
  const box = s("a", { href: `#/jobs/${encodeURIComponent(n.id)}`, class: `graph-node status-${n.status}`, "data-job": n.id, "data-role": role },
    s("title", {}, `${n.type} · ${n.status} · ${n.id}`),
    s("rect", { x, y, width: NODE_W, height: NODE_H, rx: 8 }),
    s("text", { x: x + 10, y: y + 18, class: "graph-type" }, clip(n.type, 28)),
    s("text", { x: x + 10, y: y + 35, class: "graph-status" }, `${n.status}${n.on_failure === "run" ? " · runs anyway" : ""}`));
  return box;
}

function edge(x1, y1, x2, y2, run) {
  const mid = (x1 + x2) / 2;
  return s("path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, class: run ? "graph-edge run" : "graph-edge" });
}

// The SVG of `graph`: columns of parents, the job, and children, each edge a curve.
export function graphView(graph) {
  const rows = Math.max(graph.parents.length, graph.children.length, 1);
  const height = PAD * 2 + rows * NODE_H + (rows - 1) * GAP_Y;
  const width = PAD * 2 + 3 * NODE_W + 2 * GAP_X;
  const yOf = (i, count) => PAD + (height - PAD * 2 - (count * NODE_H + (count - 1) * GAP_Y)) / 2 + i * (NODE_H + GAP_Y);
  const centerX = PAD + NODE_W + GAP_X, centerY = yOf(0, 1);
  const svg = s("svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  graph.parents.forEach((p, i) => {
    const y = yOf(i, graph.parents.length);
    svg.append(edge(PAD + NODE_W, y + NODE_H / 2, centerX, centerY + NODE_H / 2, p.on_failure === "run"), node(p, PAD, y, "parent"));
  });
  graph.children.forEach((c, i) => {
    const x = centerX + NODE_W + GAP_X, y = yOf(i, graph.children.length);
    svg.append(edge(centerX + NODE_W, centerY + NODE_H / 2, x, y + NODE_H / 2, c.on_failure === "run"), node(c, x, y, "child"));
  });
  svg.append(node(graph.job, centerX, centerY, "job"));
  return svg;
}

// Whether the job has a graph worth drawing.
export function hasGraph(job) {
  return (job.depends_on?.length ?? 0) > 0 || (job.children ?? 0) > 0;
}
