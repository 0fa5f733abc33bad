/** The two operations of the API: what per-IP limits charge, the upstream is asked and the metrics count. */
export type OtpOperation = "send" | "verify";
