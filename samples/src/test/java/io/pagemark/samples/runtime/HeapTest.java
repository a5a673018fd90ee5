package io.pagemark.samples.runtime;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The object model, the card table and the remark's card-to-object mapping, on objects that straddle cards and pages. */
class HeapTest {

    @Test
    void theRemarkFindsAnObjectWhoseDirtyFieldLiesOnALaterCardThanItsHeader() {
        try (Heap heap = new Heap(1 << 20)) {
            Allocator allocator = new Allocator(heap);
            int sizeClass = Heap.sizeClassFor(Heap.slotBytesFor(3, 0));
            assertEquals(48, Heap.SLOT_SIZES[sizeClass]);
            long offset = -1;
            for (int i = 0; i <= 10; i++) offset = allocator.allocate(sizeClass);
            assertEquals(480, offset, "slot 10 of the first block: header on card 0, fields 1 and 2 on card 1");
            long obj = heap.initialize(offset, 99, 3, 0);
            heap.mark(offset);

            heap.storeRef(obj, 2, 0);   // field at 480 + 24 + 16 = 520: card 1

            assertEquals(List.of(1), dirtyCards(heap));
            assertEquals(List.of(obj), blackObjectsOn(heap, 1));
            assertEquals(List.of(), blackObjectsOn(heap, 0).stream().filter(o -> o != obj).toList());
            assertEquals(List.of(), dirtyCards(heap), "draining clears the cards");
        }
    }

    @Test
    void theRemarkFindsAnObjectThatStraddlesAPageBoundary() {
        try (Heap heap = new Heap(1 << 20)) {
            Allocator allocator = new Allocator(heap);
            int sizeClass = Heap.sizeClassFor(Heap.slotBytesFor(9, 0));
            assertEquals(96, Heap.SLOT_SIZES[sizeClass]);
            long offset = -1;
            for (int i = 0; i <= 42; i++) offset = allocator.allocate(sizeClass);
            assertEquals(4032, offset, "slot 42: header on page 0, fields from 4096 on page 1");
            long obj = heap.initialize(offset, 7, 9, 0);
            heap.mark(offset);

            heap.storeRef(obj, 8, obj);   // field at 4032 + 24 + 64 = 4120: card 8, the first card of page 1

            assertEquals(List.of(8), dirtyCards(heap));
            assertEquals(List.of(obj), blackObjectsOn(heap, 8));
        }
    }

    @Test
    void aRunOfDirtyCardsAcrossABlockBoundaryFindsEveryObjectOnItOnce() {
        try (Heap heap = new Heap(1 << 20)) {
            Allocator allocator = new Allocator(heap);
            List<Long> block0 = fillAndMark(heap, allocator, Heap.sizeClassFor(Heap.slotBytesFor(77, 0)));   // 640-byte slots
            List<Long> block1 = fillAndMark(heap, allocator, Heap.sizeClassFor(Heap.slotBytesFor(125, 0)));  // 1024-byte slots
            assertEquals(Heap.BLOCK_BYTES, Heap.offsetOf(block1.get(0)), "the second size class took the second block");
            int cardsPerBlock = Heap.BLOCK_BYTES / CardTable.CARD_BYTES;
            List<Long> found = new ArrayList<>();
            heap.forEachBlackObjectOn(cardsPerBlock - 4, cardsPerBlock + 4, found::add);
            // Bytes [30720, 34816): slots 48-50 of the first block (slot 47 ends at 30720), slots 0-1 of the second.
            assertEquals(List.of(block0.get(48), block0.get(49), block0.get(50), block1.get(0), block1.get(1)), found);
        }
    }

    /** Allocates every slot of one block of {@code sizeClass}, initializes each object and marks it. */
    private static List<Long> fillAndMark(Heap heap, Allocator allocator, int sizeClass) {
        List<Long> objects = new ArrayList<>();
        int refs = (int) ((Heap.SLOT_SIZES[sizeClass] - Heap.HEADER_BYTES) / Long.BYTES);
        for (int i = 0; i < Heap.slotsPerBlock(sizeClass); i++) {
            long offset = allocator.allocate(sizeClass);
            objects.add(heap.initialize(offset, 1000L * sizeClass + i, refs, 0));
            heap.mark(offset);
        }
        return objects;
    }

    @Test
    void unmarkedObjectsAndFreeBlocksAreNotRescanned() {
        try (Heap heap = new Heap(1 << 20)) {
            Allocator allocator = new Allocator(heap);
            int sizeClass = Heap.sizeClassFor(Heap.slotBytesFor(1, 0));
            long offset = allocator.allocate(sizeClass);
            heap.initialize(offset, 5, 1, 0);
            assertEquals(List.of(), blackObjectsOn(heap, 0), "allocated but neither marked nor allocated during marking");
            assertEquals(List.of(), blackObjectsOn(heap, Heap.BLOCK_BYTES / CardTable.CARD_BYTES), "a card of a free block");
        }
    }

    @Test
    void theChecksumCatchesADamagedObjectAndTheTagAReusedSlot() {
        try (Heap heap = new Heap(1 << 20)) {
            Allocator allocator = new Allocator(heap);
            long offset = allocator.allocate(Heap.sizeClassFor(Heap.slotBytesFor(1, 3)));
            long first = heap.initialize(offset, 1234, 1, 3);
            assertNull(heap.damage(offset));
            long reused = heap.initialize(offset, 5678, 1, 3);
            assertTrue(Heap.tagOfRef(first) != Heap.tagOf(heap.idOf(offset)), "a reference to the old object no longer matches");
            assertEquals(Heap.tagOfRef(reused), Heap.tagOf(heap.idOf(offset)));
            heap.storeRef(reused, 1, 42);   // field 1 is the first data word: a stray store damages the object
            assertEquals("checksum mismatch", heap.damage(offset));
        }
    }

    private static List<Integer> dirtyCards(Heap heap) {
        IntList cards = new IntList();
        heap.cards().drainDirty(cards);
        List<Integer> list = new ArrayList<>();
        for (int i = 0; i < cards.size(); i++) list.add(cards.get(i));
        return list;
    }

    private static List<Long> blackObjectsOn(Heap heap, int card) {
        List<Long> found = new ArrayList<>();
        heap.forEachBlackObjectOn(card, card + 1, found::add);
        return found;
    }
}
