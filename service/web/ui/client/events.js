export const TERMINAL = new Set(["completed", "failed", "cancelled", "expired"]);
