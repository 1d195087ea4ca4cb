/** What a backend hands a contract suite: a fresh, empty store and how to dispose of it. */
export interface Made<S> {
  store: S;
  cleanup: () => Promise<void>;
}

export type MakeStore<S> = () => Promise<Made<S>>;

/** Runs `fn` on a fresh store and always cleans up. */
export async function withStore<S>(make: MakeStore<S>, fn: (store: S) => Promise<void>): Promise<void> {
  const { store, cleanup } = await make();
  try {
    await fn(store);
  } finally {
    await cleanup();
  }
}
