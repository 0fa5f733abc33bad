import type { OtpStore } from "../../src/adapters/store/port";
import type { PumpingPolicy, PumpVerdict } from "../../src/domain/pumping";
import { ratePolicy } from "../../src/domain/rate-policy";
import { parseLimits } from "../../src/domain/rate-window";

/** Phone windows wide enough never to refuse, so a send's admission is the prefix's verdict alone. */
const WIDE = ratePolicy("phone", parseLimits("1000/1m")!);

/** The pumping guard's verdict on `prefix` for one send to `phone`, through the store's admission step. */
export async function judgePrefix(store: OtpStore, prefix: string, phone: string, policy: PumpingPolicy): Promise<PumpVerdict> {
  const { pump } = await store.admitSend(phone, WIDE, crypto.randomUUID(), { pump: { prefix, policy } });
  if (!pump) throw new Error("the phone windows refused: the prefix was not asked");
  return pump;
}
