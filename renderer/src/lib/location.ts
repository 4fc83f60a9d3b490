// The open conversation lives in the URL fragment (#c=<id>, beside the browser host's
// #token=...), so a reload opens the same conversation and the token stays where it was.

export function readHashParam(name: string, hash: string = location.hash): string | null {
  return new URLSearchParams(hash.replace(/^#/, '')).get(name);
}

export function writeHashParam(name: string, value: string | null): void {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (value === null) params.delete(name);
  else params.set(name, value);
  const next = params.toString();
  if (next === location.hash.replace(/^#/, '')) return;
  // replaceState takes a while (it writes session history): not inside the task that opened
  // the conversation.
  setTimeout(() => history.replaceState(history.state, '', `${location.pathname}${location.search}${next ? `#${next}` : ''}`), 0);
}
