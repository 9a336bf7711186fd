// Client input never causes a 500: a quick seeded run of the random requests
// of `npm run fuzz` (scripts/lib/fuzz.ts), inside workerd: every route,
// content type and encoding gets a 2xx or a structured 4xx, never a 5xx.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FUZZ_ENVS, judge, requests, routeTemplates, toInit } from "../../scripts/lib/fuzz";
import { freshApp } from "./helpers";

const { app, call } = freshApp();
const templates = routeTemplates(app.routes);

describe("random requests", () => {
  it("should cover every route the app serves", () => {
    const routes = templates.map((t) => `${t.method} ${t.path}`);
    for (const r of ["POST /v1/predict", "POST /v1/models/:model/predict", "POST /v2/models/:model/infer", "GET /v2/health/ready"]) expect(routes).toContain(r);
  });

  it("should never answer 5xx, and every 4xx should be structured", async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(requests(templates), fc.constantFrom(...FUZZ_ENVS), async (req, env) => {
        const res = await call(req.path, toInit(req), env);
        statuses.add(res.status);
        const failure = await judge(req, res);
        expect(failure, `${req.method} ${req.path} ${JSON.stringify(req.headers)}`).toBeUndefined();
      }),
      { numRuns: 600, seed: 20261129 },
    );
    // The run reached the answers it is meant to probe, not only one kind.
    for (const s of [200, 400, 401, 404, 413, 415]) expect(statuses).toContain(s);
  });
});
