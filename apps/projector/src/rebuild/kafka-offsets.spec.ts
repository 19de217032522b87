import type { Admin } from 'kafkajs';
import { commitOffsets, noteEndOffsets, recordsSince } from './kafka-offsets';

describe('rebuild handoff offsets', () => {
  it('notes the end offset of every partition of the topics that exist, and leaves out missing topics', async () => {
    const admin = {
      listTopics: async () => ['b', 'a'],
      fetchTopicOffsets: async (topic: string) =>
        topic === 'a'
          ? [
              { partition: 1, high: '7', low: '0', offset: '7' },
              { partition: 0, high: '3', low: '1', offset: '3' },
            ]
          : [{ partition: 0, high: '0', low: '0', offset: '0' }],
    } as unknown as Admin;
    expect(await noteEndOffsets(admin, ['a', 'b', 'missing'])).toEqual([
      { topic: 'a', partition: 0, offset: '3' },
      { topic: 'a', partition: 1, offset: '7' },
      { topic: 'b', partition: 0, offset: '0' },
    ]);
  });

  it('commits the noted offsets per topic for the group', async () => {
    const setOffsets = jest.fn(async () => undefined);
    await commitOffsets({ setOffsets } as unknown as Admin, 'g', [
      { topic: 'a', partition: 0, offset: '3' },
      { topic: 'a', partition: 1, offset: '7' },
      { topic: 'b', partition: 0, offset: '0' },
    ]);
    expect(setOffsets.mock.calls).toEqual([
      [
        {
          groupId: 'g',
          topic: 'a',
          partitions: [
            { partition: 0, offset: '3' },
            { partition: 1, offset: '7' },
          ],
        },
      ],
      [{ groupId: 'g', topic: 'b', partitions: [{ partition: 0, offset: '0' }] }],
    ]);
  });

  it('counts the records written after the noted offsets (a partition noted nowhere counts from 0)', () => {
    const noted = [
      { topic: 'a', partition: 0, offset: '3' },
      { topic: 'a', partition: 1, offset: '7' },
    ];
    const ends = [
      { topic: 'a', partition: 0, offset: '5' },
      { topic: 'a', partition: 1, offset: '7' },
      { topic: 'c', partition: 0, offset: '4' },
    ];
    expect(recordsSince(noted, ends)).toBe(2 + 0 + 4);
  });
});
