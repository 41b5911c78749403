// The dashboard's front page: queue cards, the live job table, and the dead-letter list.

import { h } from "./dom.js";
import { statsCards } from "./cards.js";
import { deadLetters } from "./dead_letters.js";
import { JobTable } from "./table.js";

export function overview(ctx) {
  const parts = [statsCards(ctx), new JobTable(ctx), deadLetters(ctx)];
  const [cards, table, dead] = parts.map((part) => part.el);
  return {
    el: h("div", { class: "overview" }, cards, h("div", { class: "columns" }, table, dead)),
    reload: () => parts.forEach((part) => part.reload()),
    dispose: () => parts.forEach((part) => part.dispose()),
  };
}
