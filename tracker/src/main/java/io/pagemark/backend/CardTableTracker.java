package io.pagemark.backend;

/**
 * card-table: the software baseline pagemark replaces. Nothing is protected; writes made through
 * the arena's write API mark 512-byte cards (see {@link ArenaCardTable}) and collect scans and clears
 * them. Writes that bypass the write API (direct segment stores, read(2) into the memory) are not seen.
 */
public final class CardTableTracker implements MarkedByWriteApi {
    private final ArenaCardTable cards;

    private CardTableTracker(MappedRegion region) {
        this.cards = new ArenaCardTable(region);
    }

    /** A card table over the region (no option applies). */
    public static CardTableTracker open(MappedRegion region, TrackerOptions options) {
        return new CardTableTracker(region);
    }

    @Override
    public ArenaCardTable cards() {
        return cards;
    }

    @Override
    public void arm() {
        cards.clearAll();
    }

    @Override
    public void collect(PageSet out) {
        cards.collect(out);
    }

    @Override
    public long faults() {
        return 0;
    }

    @Override
    public String describe() {
        return "card-table (software barrier, " + ArenaCardTable.CARD_BYTES + "-byte cards, marked by the arena's write API)";
    }

    @Override
    public void close() {
        cards.close();
    }
}
