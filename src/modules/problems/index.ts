import { Elysia } from "elysia";
import { ERROR_CODES, type ErrorCode, GatewayError } from "../../errors";
import { CODE_FACTS } from "../../http/error-codes";
import { problemSlug } from "../../http/problem";

/**
 * A page per problem code at /problems/<code> (every problem's `type` links
 * here) and an index at /problems: what happened and what the caller should do,
 * for a person who opened the link. Made from the code table, once.
 */
export function problemPages() {
  const pages = new Map(ERROR_CODES.map((code) => [problemSlug(code), page(code)]));
  const index = html(
    "Problems",
    `<p>Every error of the otp-gateway API is <code>application/problem+json</code> with one of these codes.</p><ul>${ERROR_CODES.map(
      (code) =>
        `<li><a href="/problems/${problemSlug(code)}"><code>${code}</code></a> (${CODE_FACTS[code].status}): ${inline(CODE_FACTS[code].title)}</li>`,
    ).join("")}</ul>`,
  );
  const answer = (body: string) =>
    new Response(body, {
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=3600" },
    });
  return (
    new Elysia({ name: "problem-pages" })
      // Pages for people, not operations: not in the OpenAPI document.
      .get("/problems", () => answer(index), { detail: { hide: true } })
      .get(
        "/problems/:slug",
        ({ params }) => {
          const body = pages.get(params.slug);
          if (!body) {
            throw new GatewayError("NOT_FOUND", {
              detail: "No problem has that name; /problems lists them.",
            });
          }
          return answer(body);
        },
        { detail: { hide: true } },
      )
  );
}

function page(code: ErrorCode): string {
  const facts = CODE_FACTS[code];
  return html(
    `${code}: ${facts.title}`,
    `<p><strong>HTTP ${facts.status}</strong>, <code>"code": "${code}"</code></p>` +
      `<h2>What happened</h2><p>${inline(facts.title)}: ${inline(facts.when)}.</p>` +
      `<h2>What to do</h2><p>${inline(facts.action)}</p>` +
      `<p><a href="/problems">All problems</a></p>`,
  );
}

/** Our Markdown subset: `code` spans; everything else escaped. */
function inline(markdown: string): string {
  const escaped = markdown
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
  return escaped.replace(/`([^`]+)`/g, "<code>$1</code>");
}

function html(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><meta name="viewport" content="width=device-width, initial-scale=1" />
<title>${inline(title)}</title><link rel="icon" href="data:," />
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body><h1>${inline(title)}</h1>${body}</body></html>
`;
}
