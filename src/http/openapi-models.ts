import { t } from "elysia";
import { ERROR_CODES, type ErrorCode } from "../errors";
import { CODE_FACTS } from "./error-codes";

/** problem+json as documented in the OpenAPI document (RFC 9457 plus `code` and `requestId`). */
export const ProblemSchema = t.Object(
  {
    type: t.String({ examples: ["urn:otp-gateway:problem:invalid-request"] }),
    title: t.String({ examples: ["The request is not valid"] }),
    status: t.Integer({ examples: [400] }),
    detail: t.String({ examples: ["Some fields are missing or not valid."] }),
    code: t.Union(
      ERROR_CODES.map((c) => t.Literal(c)),
      { description: "Stable machine-readable code." },
    ),
    requestId: t.String({
      description: "Same as the X-Request-Id header.",
      examples: ["0d6c1f0a-2b11-4bb8-8f5e-3f0c7d1e9d1b"],
    }),
    errors: t.Optional(t.Array(t.Object({ pointer: t.String({ examples: ["/phone"] }), detail: t.String() }))),
  },
  { description: "An RFC 9457 problem, served as application/problem+json." },
);

/**
 * The error answers of a route, for its `response` map: one entry per status,
 * described from the code table by the codes the route can give with it.
 */
export function problemResponses(codes: readonly ErrorCode[]): Record<number, typeof ProblemSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const { status } = CODE_FACTS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, typeof ProblemSchema> = {};
  for (const [status, list] of byStatus) {
    const description = list.map((code) => `\`${code}\`: ${CODE_FACTS[code].when}.`).join(" ");
    responses[status] = { ...ProblemSchema, description };
  }
  return responses;
}
