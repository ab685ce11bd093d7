// Preloaded into the app by startup.bench.ts: on SIGUSR2 prints the CPU the process has used so far.
process.on('SIGUSR2', () => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(`startup-cpu-ms=${(user + system) / 1000}\n`);
});
