// Reads a password without it ever being on a command line: from an
// environment variable, else a terminal prompt that echoes nothing, else the
// first line of a piped stdin (for scripts: `pass show admin | npm run …`).

/**
 * The password from `env` if set, else asked for on the terminal (typed
 * characters are not shown), else read from stdin's first line.
 */
export async function readPassword({ env, prompt }) {
  const fromEnv = process.env[env];
  if (fromEnv) return fromEnv;
  return process.stdin.isTTY ? promptHidden(prompt) : firstLine(process.stdin);
}

async function firstLine(stream) {
  let text = "";
  for await (const chunk of stream) {
    text += chunk;
    if (text.includes("\n")) break;
  }
  return text.split(/\r?\n/)[0];
}

/** Raw mode: each key arrives as typed and is never echoed; Enter ends, Backspace erases, Ctrl-C aborts. */
function promptHidden(prompt) {
  const { stdin, stderr } = process;
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve) => {
    let typed = "";
    const done = (value) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      stderr.write("\n");
      resolve(value);
    };
    const onData = (chunk) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done(typed);
        if (ch === "\u0003") {
          done("");
          process.exit(130);
        }
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else if (ch >= " ") typed += ch;
      }
    };
    stdin.on("data", onData);
  });
}
