import { MemoryStore } from "../../src/adapters/store/memory";
import { storeBehaviour } from "./behaviour";

storeBehaviour("memory", async () => new MemoryStore());
