// MessageBatch alone: what fits in one Publish call (the publisher decides when to send).
import { MessageBatch } from '../../shared/webhook/message-batch';

const limits = { maxMessages: 3, maxBytes: 100 };

describe('MessageBatch', () => {
  it('starts empty and takes any one message, however large: alone, it is its own call', () => {
    const batch = new MessageBatch<string>(limits);
    expect(batch.length).toBe(0);
    expect(batch.canFit(1_000_000)).toBe(true);
    batch.add('huge', 1_000_000, 5);
    expect(batch.length).toBe(1);
    expect(batch.canFit(1)).toBe(false);
  });

  it('fits messages while their bytes stay within maxBytes (the limit itself included)', () => {
    const batch = new MessageBatch<string>(limits);
    batch.add('a', 60, 0);
    expect(batch.canFit(41)).toBe(false);
    expect(batch.canFit(40)).toBe(true);
    batch.add('b', 40, 1);
    expect(batch.canFit(1)).toBe(false);
  });

  it('is full at maxMessages, and fits nothing more', () => {
    const batch = new MessageBatch<string>(limits);
    for (const [i, item] of ['a', 'b'].entries()) batch.add(item, 1, i);
    expect(batch.isFull()).toBe(false);
    expect(batch.canFit(1)).toBe(true);
    batch.add('c', 1, 2);
    expect(batch.isFull()).toBe(true);
    expect(batch.canFit(1)).toBe(false);
  });

  it('remembers when its oldest message came, until taken', () => {
    const batch = new MessageBatch<string>(limits);
    batch.add('a', 1, 10);
    batch.add('b', 1, 20);
    expect(batch.oldestAt).toBe(10);
    batch.take();
    batch.add('c', 1, 30);
    expect(batch.oldestAt).toBe(30);
  });

  it('take() returns the messages oldest first and leaves it empty, bytes and count both', () => {
    const batch = new MessageBatch<string>(limits);
    batch.add('a', 50, 0);
    batch.add('b', 50, 1);
    expect(batch.take()).toEqual(['a', 'b']);
    expect(batch.length).toBe(0);
    expect(batch.take()).toEqual([]);
    batch.add('c', 100, 2);
    batch.add('d', 0, 3);
    expect(batch.canFit(1)).toBe(false);
    expect(batch.take()).toEqual(['c', 'd']);
  });
});
