import Table from "cli-table3";

/** Renders rows as a boxed terminal table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] }, chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" } });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

/** The confusion matrix as a table: rows are true classes, columns predictions. */
export function confusionTable(confusion: number[][], labels: string[]): string {
  const short = labels.map((l) => (l.length > 7 ? l.slice(0, 7) : l));
  return table(
    ["true \\ pred", ...short, "recall"],
    confusion.map((row, i) => {
      const n = row.reduce((a, b) => a + b, 0);
      return [labels[i], ...row, n ? (row[i] / n).toFixed(4) : "-"];
    }),
  );
}
