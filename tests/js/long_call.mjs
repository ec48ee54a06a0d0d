// Drives `mcp-open serve` with the TypeScript MCP SDK (the client Claude Desktop uses): a long generate
// under a short request timeout that resets on progress, as Claude Desktop's 60-second one does.
// Usage: node long_call.mjs COMMAND TIMEOUT_MS RESET(true|false) MAX_TOKENS -- SERVER_ARGS...
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [command, timeoutMs, reset, maxTokens, , ...serverArgs] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args: serverArgs, env: { ...process.env }, stderr: "ignore" });
const client = new Client({ name: "long-call-test", version: "1.0.0" });
await client.connect(transport);
let notifications = 0;
const started = Date.now();
try {
  const result = await client.callTool(
    { name: "generate", arguments: { prompt: "Once upon a time", max_tokens: Number(maxTokens), temperature: 0 } },
    undefined,
    {
      timeout: Number(timeoutMs),
      resetTimeoutOnProgress: reset === "true",
      onprogress: () => { notifications += 1; },
    },
  );
  const usage = result.structuredContent?.usage ?? {};
  console.log(JSON.stringify({ ok: !result.isError, notifications, seconds: (Date.now() - started) / 1000, usage }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, notifications, seconds: (Date.now() - started) / 1000, error: String(error) }));
} finally {
  await client.close();
}
