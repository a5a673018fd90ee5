package io.pagemark.checkpoint;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Writes one checkpoint file (see {@link Format}) into a temporary file and publishes it under its
 * final name. Pages are copied into a staging buffer before they are checksummed and written, so
 * the checksum and the file hold the same bytes even while writers keep changing the arena.
 * Closing an unpublished writer deletes its temporary file.
 */
final class CheckpointFileWriter implements AutoCloseable {
    private static final ValueLayout.OfLong INDEX = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt CRC = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ChainDirectory dir;
    private final Format.Header header;
    private final String temp;
    private final FileChannel channel;
    private final Staging staging;
    private final ByteBuffer stagingBytes;
    private final int pageSize;
    private final long recordBytes;
    private final CRC32C fileCrc = new CRC32C();
    private final CRC32C recordCrc = new CRC32C();
    private long filled;
    private long records;
    private long written;
    private boolean published;

    /** Starts a file with {@code header}; a base leaves out zero pages (a restore zero-fills what a base lacks). */
    CheckpointFileWriter(ChainDirectory dir, Format.Header header, Staging staging) throws IOException {
        this.dir = dir;
        this.header = header;
        this.staging = staging;
        this.stagingBytes = staging.buffer().asByteBuffer();
        this.pageSize = header.pageSize();
        this.recordBytes = Format.recordBytes(pageSize);
        ChainDirectory.TempFile created = dir.createTemp();
        this.temp = created.name();
        this.channel = created.channel();
        try {
            ByteBuffer headerBytes = header.encode();
            fileCrc.update(headerBytes.duplicate());
            ChainDirectory.writeFully(channel, headerBytes);
            written = Format.HEADER_BYTES;
        } catch (IOException | RuntimeException e) {
            channel.close();
            dir.delete(temp);
            throw e;
        }
    }

    /** Where a page's bytes come from: the arena itself, or a cut ({@code Cut::copyTo}). */
    @FunctionalInterface
    interface PageSource {
        /** Copies page {@code page} (one page) to {@code destination} at {@code offset}. */
        void copyTo(long page, MemorySegment destination, long offset);
    }

    /** Appends page {@code page}, whose bytes are {@code pageSize} bytes of {@code source} at {@code offset}. */
    void add(long page, MemorySegment source, long offset) throws IOException {
        add(page, (p, destination, at) -> MemorySegment.copy(source, offset, destination, at, pageSize));
    }

    /** Appends page {@code page}, whose bytes {@code source} copies straight into the record. */
    void add(long page, PageSource source) throws IOException {
        if (filled + recordBytes > staging.buffer().byteSize()) flush();
        MemorySegment record = staging.buffer().asSlice(filled, recordBytes);
        MemorySegment data = record.asSlice(Format.RECORD_PREFIX_BYTES, pageSize);
        source.copyTo(page, data, 0);
        if (header.kind() == Checkpoint.Kind.BASE && data.mismatch(staging.zeroPage()) == -1) return;
        record.set(INDEX, 0, page);
        int at = (int) filled;
        recordCrc.reset();
        recordCrc.update(stagingBytes.slice(at, Long.BYTES));
        recordCrc.update(stagingBytes.slice(at + Format.RECORD_PREFIX_BYTES, pageSize));
        record.set(CRC, Long.BYTES, (int) recordCrc.getValue());
        filled += recordBytes;
        records++;
    }

    private void flush() throws IOException {
        ByteBuffer chunk = stagingBytes.slice(0, (int) filled);
        fileCrc.update(chunk.duplicate());
        ChainDirectory.writeFully(channel, chunk);
        written += filled;
        filled = 0;
    }

    /**
     * Finishes the file (trailer, fsync) and publishes it as {@code sequence}'s file: after this the
     * file exists complete under its final name, durably. It is not part of the chain until the
     * manifest lists it.
     */
    Manifest.Entry publish() throws IOException {
        flush();
        ByteBuffer trailer = Format.trailer(records, fileCrc);
        ChainDirectory.writeFully(channel, trailer);
        written += Format.TRAILER_BYTES;
        channel.force(true);
        channel.close();
        dir.publish(temp, ChainDirectory.nameOf(header.sequence(), header.kind()));
        published = true;
        return new Manifest.Entry(header.sequence(), header.stateId(), header.kind(), written, (int) fileCrc.getValue());
    }

    long records() {
        return records;
    }

    @Override
    public void close() throws IOException {
        if (published) return;
        try {
            channel.close();
        } finally {
            dir.delete(temp);
        }
    }
}
