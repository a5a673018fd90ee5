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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Log-log line charts rendered to PNG with XChart. */
final class Charts {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;

    private Charts() {}

    /** One line of a chart: its points, x ascending. */
    record Series(String name, List<Double> x, List<Double> y) {}

    /**
     * Renders a chart with logarithmic axes to {@code file} (PNG). Points that are not positive are
     * left out (a log axis cannot show them); {@code xLabels}, when not null, formats the x-axis ticks.
     *
     * @return false, writing nothing, when no series has a point to draw
     */
    static boolean logLog(Path file, String title, String xTitle, String yTitle, List<Series> series,
                       Function<Double, String> xLabels) throws IOException {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        XYStyler styler = chart.getStyler();
        styler.setXAxisLogarithmic(true);
        styler.setYAxisLogarithmic(true);
        styler.setLegendPosition(Styler.LegendPosition.OutsideS);
        styler.setLegendLayout(Styler.LegendLayout.Horizontal);
        styler.setChartBackgroundColor(java.awt.Color.WHITE);
        styler.setMarkerSize(6);
        if (xLabels != null) styler.setxAxisTickLabelsFormattingFunction(xLabels);
        Map<String, Series> unique = new LinkedHashMap<>();
        for (Series s : series) unique.put(s.name(), s);
        for (Series s : unique.values()) {
            List<Double> xs = new java.util.ArrayList<>(), ys = new java.util.ArrayList<>();
            for (int i = 0; i < s.x().size(); i++) {
                if (s.x().get(i) > 0 && s.y().get(i) > 0) {
                    xs.add(s.x().get(i));
                    ys.add(s.y().get(i));
                }
            }
            if (!xs.isEmpty()) chart.addSeries(s.name(), xs, ys).setMarker(SeriesMarkers.CIRCLE);
        }
        if (chart.getSeriesMap().isEmpty()) return false;
        Files.createDirectories(file.getParent());
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
        return true;
    }
}
