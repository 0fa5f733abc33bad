// Baseline 2: a bare Elysia route with a body schema.
import { Elysia, t } from "elysia";

new Elysia()
  .post(
    "/v1/otp/send",
    ({ body }) => ({
      requestId: body.phone,
      expiresAt: "2026-01-01T00:00:00.000Z",
      attemptsLeft: 3,
      resendAfter: 60,
    }),
    {
      body: t.Object({ phone: t.String({ pattern: "^\\+[1-9][0-9]{6,14}$" }) }),
    },
  )
  .get("/healthz", () => ({ status: "ok" }))
  .listen({ hostname: "127.0.0.1", port: Number(process.env.PORT) });
