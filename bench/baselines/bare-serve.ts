// Baseline 1: a bare Bun.serve answering JSON.
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT),
  fetch: () =>
    Response.json({
      requestId: "r",
      expiresAt: "2026-01-01T00:00:00.000Z",
      attemptsLeft: 3,
      resendAfter: 60,
    }),
});
