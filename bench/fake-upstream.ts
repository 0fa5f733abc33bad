// A fast stand-in for StartMessaging for benchmarks (the test fake favours fidelity over speed).
// Answers every send with the tutorial shape and every verify with verified:false.
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  async fetch(request) {
    const path = new URL(request.url).pathname;
    await request.arrayBuffer();
    if (path === "/otp/send") {
      return Response.json({
        data: {
          requestId: crypto.randomUUID(),
          expiresAt: new Date(Date.now() + 300_000).toISOString(),
          attemptsLeft: 3,
        },
      });
    }
    if (path === "/otp/verify") return Response.json({ data: { verified: false } });
    return new Response("not found", { status: 404 });
  },
});
console.log(server.port);
