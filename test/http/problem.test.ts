import { describe, expect, test } from "bun:test";

describe("problem answers", () => {
  test("the body is the problem's JSON, whether made from a per-code prefix or in full", async () => {
    const { ERROR_CODES } = await import("../../src/errors");
    const { problemFor, problemResponse } = await import("../../src/http/problem");
    const problems = ERROR_CODES.flatMap((code) => [
      problemFor(code, "req-1"),
      problemFor(code, "A.b:c-9_0"),
      problemFor(code, "req-2", { detail: "Something specific." }),
      problemFor(code, "req-3", { errors: [{ pointer: "/phone", detail: "is not valid" }] }),
    ]);
    for (const problem of problems) {
      const res = problemResponse(problem, { "retry-after": "5" });
      expect(await res.json()).toEqual(problem);
      expect(res.status).toBe(problem.status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("x-request-id")).toBe(problem.requestId);
      expect(res.headers.get("retry-after")).toBe("5");
    }
  });
});
