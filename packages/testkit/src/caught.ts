/**
 * The error a test expects, handed back so that it can be checked field by field. Both fail the test when
 * nothing is thrown; given a `type`, they rethrow an error of any other class, so its own stack shows.
 */

type ErrorClass<E> = abstract new (...args: never[]) => E;

export async function rejectionOf(p: Promise<unknown>): Promise<unknown>;
export async function rejectionOf<E>(p: Promise<unknown>, type: ErrorClass<E>): Promise<E>;
export async function rejectionOf<E>(p: Promise<unknown>, type?: ErrorClass<E>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    if (type === undefined || err instanceof type) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

export function thrownBy<E>(fn: () => unknown, type: ErrorClass<E>): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error(`expected a ${type.name}`);
}
