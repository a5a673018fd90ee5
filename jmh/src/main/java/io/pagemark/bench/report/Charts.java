package io.pagemark.bench.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Line charts with a logarithmic y axis, rendered to PNG with XChart. */
final class Charts {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;

    private Charts() {}

    /** One line of a chart: its points, x ascending. */
    record Series(String name, List<Double> x, List<Double> y) {}

    /**
     * Renders a chart with logarithmic x and y axes to {@code file}. Points that are not positive
     * are left out (a log axis cannot show them).
     *
     * @return false, writing nothing, when no series has a point to draw
     */
    static boolean logLog(Path file, String title, String xTitle, String yTitle, List<Series> series) throws IOException {
        XYChart chart = chart(title, xTitle, yTitle);
        chart.getStyler().setXAxisLogarithmic(true);
        return render(file, chart, series, true);
    }

    /**
     * Renders latency percentile curves: x is the number of nines of the percentile (0 = the minimum,
     * 1 = 90%, 2 = 99%, 3 = 99.9%, ...), labelled as percentiles, so the tail gets as much room as the
     * body; y is logarithmic. {@code series} x values are percentiles (0 to 100, below 100).
     */
    static boolean percentiles(Path file, String title, String yTitle, List<Series> series) throws IOException {
        XYChart chart = chart(title, "percentile", yTitle);
        XYStyler styler = chart.getStyler();
        styler.setxAxisTickLabelsFormattingFunction(Charts::percentileLabel);
        styler.setXAxisMin(0.0);
        List<Series> nines = new ArrayList<>();
        for (Series s : series) nines.add(new Series(s.name(), s.x().stream().map(p -> -Math.log10(1 - p / 100)).toList(), s.y()));
        return render(file, chart, nines, false);
    }

    private static String percentileLabel(double nines) {
        if (Math.abs(nines - Math.rint(nines)) > 1e-9) return "";
        int n = (int) Math.rint(nines);
        return n == 0 ? "0%" : String.format(Locale.ROOT, "%." + Math.max(0, n - 2) + "f%%", 100 * (1 - Math.pow(10, -n)));
    }

    private static XYChart chart(String title, String xTitle, String yTitle) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        XYStyler styler = chart.getStyler();
        styler.setYAxisLogarithmic(true);
        styler.setLegendPosition(Styler.LegendPosition.OutsideS);
        styler.setLegendLayout(Styler.LegendLayout.Horizontal);
        styler.setChartBackgroundColor(java.awt.Color.WHITE);
        styler.setMarkerSize(6);
        return chart;
    }

    private static boolean render(Path file, XYChart chart, List<Series> series, boolean logX) throws IOException {
        Map<String, Series> unique = new LinkedHashMap<>();
        for (Series s : series) unique.put(s.name(), s);
        double xMin = Double.MAX_VALUE, xMax = -Double.MAX_VALUE, yMin = Double.MAX_VALUE, yMax = 0;
        for (Series s : unique.values()) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (int i = 0; i < s.x().size(); i++) {
                double x = s.x().get(i), y = s.y().get(i);
                if ((logX ? x > 0 : !Double.isNaN(x)) && y > 0) {
                    xs.add(x);
                    ys.add(y);
                    xMin = Math.min(xMin, x);
                    xMax = Math.max(xMax, x);
                    yMin = Math.min(yMin, y);
                    yMax = Math.max(yMax, y);
                }
            }
            if (!xs.isEmpty()) chart.addSeries(s.name(), xs, ys).setMarker(SeriesMarkers.CIRCLE);
        }
        if (chart.getSeriesMap().isEmpty()) return false;
        // Whole decades on the log axes: XChart labels a log axis at its decades only.
        XYStyler styler = chart.getStyler();
        if (logX) styler.setXAxisMin(decadeBelow(xMin)).setXAxisMax(Math.max(decadeAbove(xMax), 10 * decadeBelow(xMin)));
        styler.setYAxisMin(decadeBelow(yMin)).setYAxisMax(Math.max(decadeAbove(yMax), 10 * decadeBelow(yMin)));
        Files.createDirectories(file.getParent());
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
        return true;
    }

    private static double decadeBelow(double v) {
        return Math.pow(10, Math.floor(Math.log10(v)));
    }

    private static double decadeAbove(double v) {
        return Math.pow(10, Math.ceil(Math.log10(v)));
    }
}
